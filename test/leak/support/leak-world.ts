import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type ExampleWorld, exampleWorld, GITHUB_TOKEN, GITPOD_TOKEN, KUBE_TOKEN, WEBHOOK_KEY } from "../../e2e/support/example-world.js";
import type { Received } from "../../support/http.js";
import { type FakeEcr, startFakeEcr } from "./fake-ecr.js";

/**
 * The leak run's world: examples/every-target.yaml against the local fakes (one consumer of every
 * kind the embedded runtime delivers to outside AWS, an htpasswd registry it serves and rotates),
 * plus an ECR registry whose tokens the refresh mints through the real SDK from a loopback ECR,
 * delivered to a docker config of its own and to one that cannot be written (so the failure paths
 * speak too). Scans run on demand and count 1 s after a delivery, so
 * revocation follows a scan at once.
 */

export const ECR_HOST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
export const ECR_ID = "prod-ecr";
/** A fake AWS secret key: the SDK signs with it and must never print it. */
export const AWS_SECRET_KEY = "leakRunFakeAwsSecretKey/0123456789+abcdefXYZ";
export const PROVIDER_TOKENS = { github: GITHUB_TOKEN, gitpod: GITPOD_TOKEN, kube: KUBE_TOKEN, webhook: WEBHOOK_KEY };

export interface LeakWorld extends ExampleWorld {
  readonly ecr: FakeEcr;
  /** Every request the Gitpod fake received, as it received it (the example world keeps no log of them). */
  readonly gitpodRequests: Received[];
  readonly ecrDockerConfig: string;
  /** Puts the AWS environment back as it was. */
  restoreEnv(): void;
}

export async function leakWorld(): Promise<LeakWorld> {
  const world = await exampleWorld();
  const ecr = await startFakeEcr();
  const gitpodRequests: Received[] = [];
  const handle = world.gitpod.handle.bind(world.gitpod);
  world.gitpod.handle = (req, res) => {
    gitpodRequests.push(req);
    handle(req, res);
  };
  const ecrDockerConfig = join(world.dir, "ecr-docker", "config.json");
  await mkdir(join(world.dir, "ecr-docker"), { mode: 0o700 });
  // A consumer whose deliveries fail for good (its "directory" is a file): failure messages are searched too.
  await writeFile(join(world.dir, "not-a-directory"), "");
  const config = await readFile(world.configPath, "utf8");
  const ecrRegistry = `  - id: ${ECR_ID}
    host: ${ECR_HOST}
    kind: ecr
    source: { type: ecr-token, account: "123456789012", region: eu-west-1 }
    secret: pullkeeper/${ECR_ID}
    verify: { endpoint: "${ecr.registry.url}" }

consumers:
`;
  if (!config.includes("\nconsumers:\n")) throw new Error("examples/every-target.yaml has no consumers: line to add the ECR registry before");
  await writeFile(
    world.configPath,
    `${config.replace("\nconsumers:\n", `\n${ecrRegistry}`)}
  - id: ecr-laptop
    registry: ${ECR_ID}
    target: { kind: docker-config, path: ${ecrDockerConfig} }
  - id: ecr-broken
    registry: ${ECR_ID}
    target: { kind: docker-config, path: ${join(world.dir, "not-a-directory", "config.json")} }

settings:
  auditSchedule: rate(1 day)
  clockSkew: 1s
`,
  );
  const saved = { ...process.env };
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: "AKIALEAKRUNFAKE00001", AWS_SECRET_ACCESS_KEY: AWS_SECRET_KEY, AWS_ENDPOINT_URL_ECR: ecr.api.url, AWS_REGION: "eu-west-1" });
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  return {
    ...world,
    ecr,
    gitpodRequests,
    ecrDockerConfig,
    restoreEnv: () => {
      process.env = saved;
    },
    close: async () => {
      process.env = saved;
      await ecr.close();
      await world.close();
    },
  };
}
