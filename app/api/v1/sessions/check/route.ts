// POST /api/v1/sessions/check — the catalogue's "check" command: validate and pre-flight a failback request
// without starting anything.
import { commandRoute } from "@/lib/api/command-route";
import { commandOf } from "@/lib/commands/catalog";

export const dynamic = "force-dynamic";

export const POST = commandRoute(commandOf("check"));
