//! `vigilops login`: exchanges email and password for an access token and stores it.

use anyhow::Context as _;
use std::io::{BufRead, IsTerminal};

use super::Context;
use crate::args::LoginArgs;
use crate::credentials::{Credentials, StoredLogin};

/// Logs in to the context's server and stores the access token for it.
pub(super) async fn run(context: &Context, args: &LoginArgs) -> anyhow::Result<()> {
    let password = read_password(args.password_stdin)?;
    let mut client = context.anonymous_client();
    let tokens = client.login(&args.email, &password).await?;
    let user = client.me().await?;
    let credentials = Credentials::from_env()?;
    credentials.put(
        &context.server,
        StoredLogin {
            email: user.email.clone(),
            access_token: tokens.access_token,
        },
    )?;
    eprintln!(
        "Logged in to {} as {} <{}> ({}); token stored in {}",
        context.server,
        user.name,
        user.email,
        user.role,
        credentials.path().display()
    );
    if context.token_override.is_some() {
        eprintln!("note: VIGILOPS_ACCESS_TOKEN (or --token) is set and wins over the stored login");
    }
    Ok(())
}

/// The password from stdin's first line, or typed at the terminal without echo.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("failed to read the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ").context("failed to read the password")?
    } else {
        anyhow::bail!(
            "stdin is not a terminal: pass --password-stdin to read the password from it"
        );
    };
    anyhow::ensure!(!password.is_empty(), "the password is empty");
    Ok(password)
}
