import * as z from "zod";

/** A consumer of kind `docker-config`: one docker `config.json` whose `auths` entry for the registry is kept current. */
export const dockerConfigTargetSchema = z.strictObject({
  kind: z.literal("docker-config"),
  /** The file, e.g. `~/.docker/config.json` (`~` expanded); created 0600 (directory 0700) if missing. */
  path: z.string().min(1, "expected the path of a docker config.json"),
});

export type DockerConfigTargetConfig = z.output<typeof dockerConfigTargetSchema>;
