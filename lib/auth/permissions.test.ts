import { describe, expect, it } from "vitest";
import { can, permissions, type Permission } from "./permissions";

// The table from architecture.md, written out again on purpose: a change to the mapping must change this test.
const expected: Record<Permission, [admin: boolean, operator: boolean, viewer: boolean]> = {
  "replica.read": [true, true, true],
  "session.read": [true, true, true],
  "schedule.read": [true, true, true],
  "failback.start": [true, true, false],
  "failback.switch": [true, true, false],
  "failback.commit": [true, true, false],
  "failback.undo": [true, true, false],
  "failback.retry": [true, true, false],
  "failback.cancel": [true, true, false],
  "schedule.write": [true, true, false],
  "audit.read": [true, true, false],
  "users.write": [true, false, false],
  "hosts.write": [true, false, false],
  "settings.write": [true, false, false],
  "profile.write": [true, true, true],
};

describe("role → permission mapping", () => {
  it.each(permissions)("%s", (permission) => {
    const [admin, operator, viewer] = expected[permission];
    expect([can("admin", permission), can("operator", permission), can("viewer", permission)]).toEqual([
      admin,
      operator,
      viewer,
    ]);
  });
});
