// `npm run failback -- <command>`: the command line. It talks to the product only through its HTTP API
// (lib/cli), with the token stored by `failback login`.
import { processIo } from "@/lib/cli/io";
import { runCli } from "@/lib/cli/main";

process.exitCode = await runCli(process.argv.slice(2), processIo());
