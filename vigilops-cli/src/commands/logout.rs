//! `vigilops logout`: forgets the access token stored for the server.

use super::Context;
use crate::credentials::Credentials;

/// Removes the context's server from the credentials file.
pub(super) fn run(context: &Context) -> anyhow::Result<()> {
    let credentials = Credentials::from_env()?;
    if credentials.remove(&context.server)? {
        eprintln!("Logged out of {}", context.server);
    } else {
        eprintln!("Not logged in to {}", context.server);
    }
    if context.token_override.is_some() {
        eprintln!("note: VIGILOPS_ACCESS_TOKEN (or --token) is still set and will keep being used");
    }
    Ok(())
}
