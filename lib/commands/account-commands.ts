// The commands on accounts: users (admins manage them) and one's own API tokens.
import { hashPassword } from "@/lib/auth/password";
import { newTokenSecret } from "@/lib/api/token-secret";
import { countLiveTokensOfUser, insertApiToken, revokeTokenOfUser } from "@/lib/db/queries/api-tokens";
import { countActiveAdmins, findUserById, insertUser, updateUserAccess } from "@/lib/db/queries/users";
import { AppError } from "@/lib/errors";
import { createTokenInput, maxLiveTokensPerUser, revokeTokenInput } from "@/lib/validation/tokens";
import { changeRoleInput, createUserInput, setUserDisabledInput } from "@/lib/validation/users";
import { defineCommand, type CommandActor } from "./define";

const lastAdmin = "This is the last active admin; make another admin first.";

/** Tokens belong to a signed-in user, never to the engine. */
function ownUserId(actor: CommandActor): string {
  if (!actor.userId) throw new AppError("FORBIDDEN", "Only a user has API tokens.");
  return actor.userId;
}

export const createUserCommand = defineCommand({
  name: "create-user",
  title: "Create user",
  summary: "Create a user with a role and a first password.",
  permission: "users.write",
  audit: "user.create",
  target: "user",
  input: createUserInput,
  async run({ tx, input, audit }) {
    const user = await insertUser(tx, { ...input, passwordHash: await hashPassword(input.password) });
    if (!user) throw new AppError("CONFLICT", "A user with this email exists already.", { email: ["Already in use."] });
    audit({ targetType: "user", targetId: user.id, details: { email: user.email, role: user.role } });
    return { id: user.id, email: user.email };
  },
  message: (u) => `Created ${u.email}.`,
  pages: () => ["/users"],
});

export const changeUserRoleCommand = defineCommand({
  name: "change-user-role",
  title: "Change role",
  summary: "Change a user's role; it takes effect at their next request.",
  permission: "users.write",
  audit: "user.change_role",
  target: "user",
  input: changeRoleInput,
  async run({ tx, input, audit }) {
    const before = await findUserById(tx, input.userId);
    if (!before) throw new AppError("NOT_FOUND", "No such user.");
    if (before.role === "admin" && input.role !== "admin" && !before.disabledAt && (await countActiveAdmins(tx)) <= 1) {
      throw new AppError("CONFLICT", lastAdmin, { role: ["The last admin must stay admin."] });
    }
    await updateUserAccess(tx, input.userId, { role: input.role });
    audit({
      targetType: "user",
      targetId: input.userId,
      details: { email: before.email, from: before.role, to: input.role },
    });
    return { email: before.email, role: input.role };
  },
  message: (u) => `${u.email} is now ${u.role}.`,
  pages: () => ["/users"],
});

export const setUserDisabledCommand = defineCommand({
  name: "set-user-disabled",
  title: "Disable or enable user",
  summary: "Disable a user (signed out everywhere at once) or enable them again.",
  permission: "users.write",
  audit: "user.set_disabled",
  target: "user",
  input: setUserDisabledInput,
  async run({ tx, actor, input, audit }) {
    const before = await findUserById(tx, input.userId);
    if (!before) throw new AppError("NOT_FOUND", "No such user.");
    if (input.disabled && before.id === actor.userId) throw new AppError("CONFLICT", "You cannot disable yourself.");
    if (input.disabled && before.role === "admin" && !before.disabledAt && (await countActiveAdmins(tx)) <= 1) {
      throw new AppError("CONFLICT", lastAdmin);
    }
    await updateUserAccess(tx, input.userId, { disabled: input.disabled });
    audit({ targetType: "user", targetId: input.userId, details: { email: before.email, disabled: input.disabled } });
    return { email: before.email, disabled: input.disabled };
  },
  message: (u) => `${u.email} is ${u.disabled ? "disabled" : "enabled"}.`,
  pages: () => ["/users"],
});

// Tokens are made and revoked in the dashboard only: a leaked token must not be able to mint more.
export const createTokenCommand = defineCommand({
  name: "create-token",
  title: "Create token",
  summary: "Create a personal API token; its secret is shown once.",
  permission: "profile.write",
  audit: "token.create",
  target: "api_token",
  input: createTokenInput,
  async run({ tx, actor, input, audit }) {
    const userId = ownUserId(actor);
    if ((await countLiveTokensOfUser(tx, userId)) >= maxLiveTokensPerUser) {
      throw new AppError(
        "CONFLICT",
        `You have ${maxLiveTokensPerUser} live tokens already; revoke one you no longer use.`,
      );
    }
    const secret = newTokenSecret();
    const token = await insertApiToken(tx, {
      userId,
      name: input.name,
      prefix: secret.prefix,
      secretHash: secret.secretHash,
    });
    audit({ targetType: "api_token", targetId: token.id, details: { name: token.name, prefix: token.prefix } });
    // The only time the secret leaves the server: only its hash was stored.
    return { id: token.id, name: token.name, prefix: token.prefix, token: secret.token };
  },
  message: (t) => `Created the token “${t.name}”.`,
  pages: () => ["/profile"],
});

export const revokeTokenCommand = defineCommand({
  name: "revoke-token",
  title: "Revoke token",
  summary: "Revoke one of your own API tokens; it stops working at once.",
  permission: "profile.write",
  audit: "token.revoke",
  target: "api_token",
  input: revokeTokenInput,
  async run({ tx, actor, input, audit }) {
    // Scoped to the signed-in user: another user's token id is "not found", never revoked.
    const token = await revokeTokenOfUser(tx, ownUserId(actor), input.tokenId);
    if (!token) throw new AppError("NOT_FOUND", "You have no live token with this id.");
    audit({ targetType: "api_token", targetId: token.id, details: { name: token.name, prefix: token.prefix } });
    return { name: token.name };
  },
  message: (t) => `Revoked the token “${t.name}”: it no longer works.`,
  pages: () => ["/profile"],
});
