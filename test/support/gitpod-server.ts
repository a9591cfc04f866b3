import type { Consumer } from "@pullkeeper/core";
import { afterEach, beforeEach, expect } from "vitest";
import { FakeGitpod } from "./fake-gitpod.js";
import { type LocalServer, startServer } from "./http.js";
import { lateBound } from "./late-bound.js";

/** The project the Gitpod tests' consumer writes its secret for, and another one. */
export const GITPOD_PROJECT = "b0e12f6c-4c67-429d-a4a6-d9838b5da047";
export const GITPOD_OTHER_PROJECT = "0f3a1b2c-0000-4000-8000-000000000001";

/** What useFakeGitpod sets up for each test; read its fields inside tests and hooks. */
export interface FakeGitpodServer {
  readonly gitpod: FakeGitpod;
  /** The loopback server in front of `gitpod`; `received` is every request. */
  readonly server: LocalServer;
  /** A gitpod-secret consumer (QUAY_AUTH for GITPOD_PROJECT) pointed at this server, with `target`'s keys over those. */
  consumer(target?: Record<string, unknown>): Consumer;
}

/** Registers hooks: a fresh FakeGitpod behind a loopback server for each test, closed after it, failing the test on any request the real API would refuse. */
export function useFakeGitpod(): FakeGitpodServer {
  const world = lateBound<FakeGitpodServer>("useFakeGitpod");
  beforeEach(async () => {
    const gitpod = new FakeGitpod();
    const server = await startServer((req, res) => gitpod.handle(req, res));
    world.set({
      gitpod,
      server,
      consumer: (target = {}) => ({
        id: "gitpod-web",
        registryId: "quay",
        target: { kind: "gitpod-secret", name: "QUAY_AUTH", scope: { projectId: GITPOD_PROJECT }, apiUrl: `${server.url}/api`, tokenSecret: "pullkeeper/gitpod-token", ...target },
      }),
    });
  });
  afterEach(async () => {
    await world.view.server.close();
    expect(world.view.gitpod.violations).toEqual([]);
  });
  return world.view;
}
