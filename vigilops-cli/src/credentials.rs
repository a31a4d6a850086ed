//! The credentials file: access tokens stored by `vigilops login`, one per server URL, so a
//! token is only ever sent to the server that issued it.
//!
//! The file is `$XDG_CONFIG_HOME/vigilops/credentials.json` (or `~/.config/vigilops/…`), written
//! atomically with mode 0600 inside a 0700 directory.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What the file holds.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CredentialsFile {
    /// Server base URL (without a trailing `/`) → its login.
    #[serde(default)]
    servers: BTreeMap<String, StoredLogin>,
}

/// One server's login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredLogin {
    pub(crate) email: String,
    pub(crate) access_token: String,
}

/// The credentials file at a known path.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    path: PathBuf,
}

/// The file's default location given `XDG_CONFIG_HOME` and `HOME`; `None` when neither is set.
pub(crate) fn default_path(
    xdg_config_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let config_dir = xdg_config_home
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| {
            home.filter(|dir| !dir.is_empty())
                .map(|home| PathBuf::from(home).join(".config"))
        })?;
    Some(config_dir.join("vigilops").join("credentials.json"))
}

/// The key a server URL is stored under.
fn server_key(server: &str) -> String {
    server.trim_end_matches('/').to_owned()
}

impl Credentials {
    /// The credentials file at `path`.
    pub(crate) fn at(path: PathBuf) -> Self {
        Self { path }
    }

    /// The credentials file at its default location.
    pub(crate) fn from_env() -> anyhow::Result<Self> {
        default_path(
            std::env::var_os("XDG_CONFIG_HOME"),
            std::env::var_os("HOME"),
        )
        .map(Self::at)
        .context("cannot locate the credentials file: set HOME or XDG_CONFIG_HOME")
    }

    /// Where the file is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> anyhow::Result<CredentialsFile> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("failed to parse `{}`", self.path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                Ok(CredentialsFile::default())
            }
            Err(error) => {
                Err(error).with_context(|| format!("failed to read `{}`", self.path.display()))
            }
        }
    }

    fn write(&self, file: &CredentialsFile) -> anyhow::Result<()> {
        let dir = self
            .path
            .parent()
            .with_context(|| format!("`{}` has no parent directory", self.path.display()))?;
        create_private_dir(dir)?;
        let bytes = serde_json::to_vec_pretty(file).context("failed to encode the credentials")?;
        // Write a sibling file and rename it over the old one, so a crash never leaves half a
        // file, and the token is never readable by others even for an instant.
        let temporary = dir.join(format!(".credentials.json.{}", std::process::id()));
        let result = write_private_file(&temporary, &bytes).and_then(|()| {
            std::fs::rename(&temporary, &self.path)
                .with_context(|| format!("failed to write `{}`", self.path.display()))
        });
        if result.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        result
    }

    /// The login stored for `server`, if any.
    pub(crate) fn get(&self, server: &str) -> anyhow::Result<Option<StoredLogin>> {
        Ok(self.read()?.servers.remove(&server_key(server)))
    }

    /// Stores `login` for `server`, replacing any earlier one.
    pub(crate) fn put(&self, server: &str, login: StoredLogin) -> anyhow::Result<()> {
        let mut file = self.read()?;
        file.servers.insert(server_key(server), login);
        self.write(&file)
    }

    /// Forgets the login of `server`; returns whether there was one.
    pub(crate) fn remove(&self, server: &str) -> anyhow::Result<bool> {
        let mut file = self.read()?;
        if file.servers.remove(&server_key(server)).is_none() {
            return Ok(false);
        }
        self.write(&file)?;
        Ok(true)
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("failed to create `{}`", dir.display()))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create `{}`", dir.display()))
}

fn write_private_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("failed to create `{}`", path.display()))?;
    // The mode above only applies to new files; a leftover file keeps its mode otherwise.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("failed to restrict `{}`", path.display()))?;
    }
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("failed to write `{}`", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(email: &str) -> StoredLogin {
        StoredLogin {
            email: email.to_owned(),
            access_token: format!("token-of-{email}"),
        }
    }

    #[test]
    fn default_path_prefers_an_absolute_xdg_config_home() {
        let check = |xdg: Option<&str>, home: Option<&str>, expected: Option<&str>| {
            assert_eq!(
                default_path(xdg.map(OsString::from), home.map(OsString::from)),
                expected.map(PathBuf::from),
                "XDG_CONFIG_HOME={xdg:?} HOME={home:?}"
            );
        };
        check(
            Some("/xdg"),
            Some("/home/ada"),
            Some("/xdg/vigilops/credentials.json"),
        );
        check(
            None,
            Some("/home/ada"),
            Some("/home/ada/.config/vigilops/credentials.json"),
        );
        // The XDG spec says to ignore relative and empty values.
        check(
            Some("relative"),
            Some("/home/ada"),
            Some("/home/ada/.config/vigilops/credentials.json"),
        );
        check(
            Some(""),
            Some("/home/ada"),
            Some("/home/ada/.config/vigilops/credentials.json"),
        );
        check(None, None, None);
    }

    #[test]
    fn logins_are_kept_per_server_and_trailing_slashes_do_not_matter() {
        let dir = tempfile::tempdir().unwrap();
        let credentials = Credentials::at(dir.path().join("nested/vigilops/credentials.json"));
        assert_eq!(credentials.get("http://a:1").unwrap(), None);

        credentials
            .put("http://a:1/", login("a@example.com"))
            .unwrap();
        credentials
            .put("http://b:2", login("b@example.com"))
            .unwrap();
        assert_eq!(
            credentials.get("http://a:1").unwrap(),
            Some(login("a@example.com"))
        );
        assert_eq!(
            credentials.get("http://b:2/").unwrap(),
            Some(login("b@example.com"))
        );

        assert!(credentials.remove("http://a:1").unwrap());
        assert!(!credentials.remove("http://a:1").unwrap());
        assert_eq!(credentials.get("http://a:1").unwrap(), None);
        assert_eq!(
            credentials.get("http://b:2").unwrap(),
            Some(login("b@example.com"))
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vigilops/credentials.json");
        // A pre-existing, world-readable file is tightened on the next write.
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

        Credentials::at(path.clone())
            .put("http://a:1", login("a@example.com"))
            .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_corrupt_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        std::fs::write(&path, "not json").unwrap();
        let error = Credentials::at(path.clone()).get("http://a:1").unwrap_err();
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
    }
}
