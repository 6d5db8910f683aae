// What a request presents to prove who it is. A bearer token wins over a cookie: scripts send tokens, and a
// token is explicit where a cookie rides along on its own.
export type PresentedCredentials =
  { kind: "bearer"; token: string } | { kind: "malformed" } | { kind: "cookie" } | { kind: "none" };

const bearerPattern = /^Bearer +(\S{1,512}) *$/i;

export function presentedCredentials(request: Request): PresentedCredentials {
  const authorization = request.headers.get("authorization");
  if (authorization !== null) {
    const match = bearerPattern.exec(authorization);
    return match?.[1] ? { kind: "bearer", token: match[1] } : { kind: "malformed" };
  }
  if (request.headers.get("cookie")) return { kind: "cookie" };
  return { kind: "none" };
}
