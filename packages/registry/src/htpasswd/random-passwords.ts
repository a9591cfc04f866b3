import { type PasswordGenerator, SecretValue } from "@pullkeeper/core";
import { randomBytes } from "node:crypto";

/** 32 random bytes as base64url: 43 characters, none of which htpasswd or a URL treats specially. */
export class RandomPasswords implements PasswordGenerator {
  generate(): SecretValue {
    return new SecretValue(randomBytes(32).toString("base64url"));
  }
}
