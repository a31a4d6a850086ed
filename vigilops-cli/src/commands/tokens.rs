//! `vigilops tokens list|create|revoke`: the agent tokens hosts authenticate with.

use vigilops_core::protocol::rest::AgentTokenView;

use super::{Context, explain};
use crate::args::{OutputFormat, TokenCreateArgs, TokenIdArgs, TokensCommand};
use crate::output::{self, Cell, Table, Tone};

/// Runs one `tokens` subcommand.
pub(super) async fn run(context: &Context, command: &TokensCommand) -> anyhow::Result<()> {
    match command {
        TokensCommand::List => list(context).await,
        TokensCommand::Create(args) => create(context, args).await,
        TokensCommand::Revoke(args) => revoke(context, args).await,
    }
}

async fn list(context: &Context) -> anyhow::Result<()> {
    let tokens = context
        .client()?
        .list_agent_tokens()
        .await
        .map_err(explain)?;
    if context.output == OutputFormat::Json {
        return output::print_json(&tokens);
    }
    output::print(&tokens_table(&tokens).render(context.stdout_style))
}

/// Agent tokens as a table.
fn tokens_table(tokens: &[AgentTokenView]) -> Table {
    let mut table = Table::new(&["ID", "NAME", "PREFIX", "STATUS", "CREATED", "LAST USED"]);
    for token in tokens {
        let status = if token.is_active {
            Cell::toned("active", Tone::Good)
        } else {
            Cell::toned("revoked", Tone::Bad)
        };
        table.row(vec![
            token.id.to_string().into(),
            token.name.as_str().into(),
            format!("{}…", token.token_prefix).into(),
            status,
            output::time(Some(&token.created_at)).into(),
            output::time(token.last_used_at.as_ref()).into(),
        ]);
    }
    table
}

async fn create(context: &Context, args: &TokenCreateArgs) -> anyhow::Result<()> {
    let token = context
        .client()?
        .create_agent_token(&args.name)
        .await
        .map_err(explain)?;
    let plaintext = token
        .token
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("the server did not return the token's plaintext"))?;
    // Only the token goes to stdout, so `TOKEN=$(vigilops tokens create web-1)` works.
    match context.output {
        OutputFormat::Json => output::print_json(&token)?,
        OutputFormat::Table => output::print(&format!("{plaintext}\n"))?,
    }
    eprint!("{}", install_hint(&context.server, &token));
    Ok(())
}

/// What to do with a new token, for stderr; it never repeats the plaintext.
fn install_hint(server: &str, token: &AgentTokenView) -> String {
    format!(
        "Created agent token {id} ({name}). This is the only time its plaintext is shown: store it now.\n\
         To report a host with it, put in /etc/vigilops/agent.yaml:\n\
         \x20 server:\n\
         \x20   url: {server}\n\
         \x20   token: <the token above>\n\
         then run `vigilops-agent run` (the VIGILOPS_TOKEN environment variable also sets the token).\n",
        id = token.id,
        name = token.name,
    )
}

async fn revoke(context: &Context, args: &TokenIdArgs) -> anyhow::Result<()> {
    context
        .client()?
        .revoke_agent_token(args.id)
        .await
        .map_err(explain)?;
    eprintln!(
        "Revoked agent token {}: agents using it are refused from now on",
        args.id
    );
    Ok(())
}
