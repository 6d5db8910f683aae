// POST /api/v1/sessions/{id}/switch-now — the catalogue's "switch-now" command (lib/commands/catalog.ts).
import { commandRoute } from "@/lib/api/command-route";
import { commandOf } from "@/lib/commands/catalog";

export const dynamic = "force-dynamic";

export const POST = commandRoute(commandOf("switch-now"));
