import { headers } from "next/headers";
import { clientIpHeader } from "./client-ip-header";

export interface RequestInfo {
  clientIp: string;
  userAgent: string;
}

export function requestInfoFrom(h: Headers): RequestInfo {
  return {
    clientIp: h.get(clientIpHeader) ?? "unknown",
    userAgent: (h.get("user-agent") ?? "").slice(0, 300),
  };
}

export async function currentRequestInfo(): Promise<RequestInfo> {
  return requestInfoFrom(await headers());
}
