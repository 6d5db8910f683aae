// Roles map to named permissions here and nowhere else. Every server action and route checks one by name.
import type { UserRole } from "@/lib/db/schema";

export const permissions = [
  "replica.read",
  "session.read",
  "schedule.read",
  "failback.start",
  "failback.switch",
  "failback.commit",
  "failback.undo",
  "failback.cancel",
  "failback.retry",
  "schedule.write",
  "audit.read",
  "users.write",
  "hosts.write",
  "settings.write",
  "profile.write",
] as const;

export type Permission = (typeof permissions)[number];

const read: Permission[] = ["replica.read", "session.read", "schedule.read"];
/** One's own profile and API tokens: every signed-in user manages their own. */
const own: Permission[] = ["profile.write"];
const operate: Permission[] = [
  "failback.start",
  "failback.switch",
  "failback.commit",
  "failback.undo",
  "failback.cancel",
  "failback.retry",
  "schedule.write",
  "audit.read",
];
const administer: Permission[] = ["users.write", "hosts.write", "settings.write"];

export const rolePermissions: Record<UserRole, ReadonlySet<Permission>> = {
  admin: new Set([...own, ...read, ...operate, ...administer]),
  operator: new Set([...own, ...read, ...operate]),
  viewer: new Set([...own, ...read]),
};

export function can(role: UserRole, permission: Permission): boolean {
  return rolePermissions[role].has(permission);
}
