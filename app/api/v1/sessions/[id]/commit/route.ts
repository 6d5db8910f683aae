// POST /api/v1/sessions/{id}/commit — the catalogue's "commit" command (lib/commands/catalog.ts).
import { commandRoute } from "@/lib/api/command-route";
import { commandOf } from "@/lib/commands/catalog";

export const dynamic = "force-dynamic";

export const POST = commandRoute(commandOf("commit"));
