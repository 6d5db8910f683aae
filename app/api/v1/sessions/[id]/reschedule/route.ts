// POST /api/v1/sessions/{id}/reschedule — the catalogue's "reschedule" command (lib/commands/catalog.ts).
import { commandRoute } from "@/lib/api/command-route";
import { commandOf } from "@/lib/commands/catalog";

export const dynamic = "force-dynamic";

export const POST = commandRoute(commandOf("reschedule"));
