// failback login --server URL --token T: checks the token against the server, then stores both (0600).
import type { Me } from "../api-types";
import { ApiClient } from "../api-client";
import { usageError } from "../cli-error";
import { stringOption, type Command } from "../command";
import { normalizeServer, saveCredentials } from "../credentials";

export const login: Command = {
  name: "login",
  summary: "Check a server URL and API token, and store them for the other commands.",
  help: `failback login --server URL --token TOKEN

  --server URL    The product's address, e.g. https://failback.example.com
  --token TOKEN   An API token from your profile page (fbk_…); "-" reads it from standard input,
                  which keeps it out of your shell history.
Stored in ~/.config/failback/credentials.json (mode 0600), or in $FAILBACK_CONFIG_DIR.`,
  options: { server: { type: "string" }, token: { type: "string" } },
  async run({ io, out, values }) {
    const serverOption = stringOption(values, "server");
    let token = stringOption(values, "token");
    if (!serverOption || !token) throw usageError("login needs --server URL and --token TOKEN.");
    if (token === "-") token = (await io.readStdin()).trim();
    if (!token) throw usageError("The token is empty.");
    const server = normalizeServer(serverOption);
    // Stored only once the server accepts it: a typo never becomes the saved login.
    const me = await new ApiClient({ server, token }, io.fetch).get<Me>("/api/v1/me");
    const file = saveCredentials(io.env, { server, token });
    out.result(
      { server, email: me.email, role: me.role, credentialsFile: file },
      () => `Logged in to ${server} as ${me.email} (${me.role}). Saved to ${file}.`,
    );
  },
};
