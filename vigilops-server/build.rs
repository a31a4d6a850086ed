//! Builds the web UI (`frontend/dist`) the server embeds, once, when it is missing and Node.js
//! is installed, so `cargo run -p vigilops-server` gives a working UI on a fresh checkout.
//! Set `VIGILOPS_SKIP_UI_BUILD=1` to skip; without Node.js the server serves a page that says
//! how to build the UI, and the API works regardless.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=../frontend/dist");
    println!("cargo:rerun-if-env-changed=VIGILOPS_SKIP_UI_BUILD");
    let frontend = Path::new("../frontend");
    if frontend.join("dist/index.html").exists()
        || std::env::var_os("VIGILOPS_SKIP_UI_BUILD").is_some()
        || !frontend.join("package.json").exists()
    {
        return;
    }
    if Command::new("npm").arg("--version").output().is_err() {
        println!(
            "cargo:warning=npm not found: the web UI is not built (the API works; see README)"
        );
        return;
    }
    for args in [
        &["ci", "--no-audit", "--no-fund"][..],
        &["run", "build"][..],
    ] {
        let status = Command::new("npm")
            .args(args)
            .current_dir(frontend)
            .status();
        if !matches!(status, Ok(status) if status.success()) {
            println!(
                "cargo:warning=`npm {}` failed: the web UI is not built",
                args.join(" ")
            );
            return;
        }
    }
}
