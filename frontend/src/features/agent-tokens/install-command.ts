/** The command that points an agent at this server, shown next to a freshly created token. */
export function agentConfigCommand(serverOrigin: string, token: string): string {
  return `vigilops-agent config --server ${serverOrigin} --token ${token}`;
}
