// The web process's handle on the engine (server actions and route handlers): one per process, kept on
// globalThis so dev reloads do not open new queue connections.
import { config } from "@/lib/config";
import { db } from "@/lib/db/client";
import type { Actor } from "@/lib/auth/actor";
import { Engine, type EngineActor } from "@/lib/engine";

const holder = globalThis as unknown as { failbackEngine?: Engine };

export function engine(): Engine {
  if (!holder.failbackEngine) {
    const cfg = config();
    if (!cfg.databaseUrl)
      throw new Error("DATABASE_URL is not set: start the product with `npm start`, which provides one.");
    holder.failbackEngine = new Engine({ db: db(), databaseUrl: cfg.databaseUrl, guestCacheDir: cfg.guestCacheDir });
  }
  return holder.failbackEngine;
}

/** Who asked, as the engine's audit rows record it. */
export function engineActorOf(actor: Actor): EngineActor {
  return { userId: actor.userId, label: actor.email, clientIp: actor.clientIp, userAgent: actor.userAgent };
}
