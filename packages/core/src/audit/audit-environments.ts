import type { Consumer } from "../propagation/delivery.js";
import type { EnvironmentLedger, EnvironmentQuery, EnvironmentRecord } from "./environment-ledger.js";
import { InvalidInputError, NotFoundError } from "../model/errors.js";
import type { Registry } from "../model/model.js";
import type { Page } from "../model/ports.js";
import { decodeWalk, encodeWalk, limitOf, type Query } from "./audit-paging.js";
import { environmentView } from "./audit-views.js";
import { type Verdict, VERDICTS } from "../model/verdict.js";

/**
 * GET /v1/environments?verdict=&registry=&consumer=: every answer is Queries on the ledger's keys.
 * A verdict alone is one index partition; registry or consumer narrow a partition by key prefix;
 * no filter at all walks the registries' partitions in config order, one cursor across them.
 */
export async function listEnvironments(
  deps: { readonly registries: readonly Registry[]; readonly consumers: readonly Consumer[]; readonly ledger: Pick<EnvironmentLedger, "environments"> },
  query: Query,
  now: Date,
) {
  const limit = limitOf(query);
  const verdict = query.verdict;
  if (verdict !== undefined && !(VERDICTS as readonly string[]).includes(verdict)) throw new InvalidInputError(`verdict: expected one of ${VERDICTS.join(", ")}`);
  if (query.registry !== undefined && !deps.registries.some((r) => r.id === query.registry)) throw new NotFoundError(`registry ${query.registry}`);
  let registryId = query.registry;
  if (query.consumer !== undefined) {
    const consumer = deps.consumers.find((c) => c.id === query.consumer);
    if (!consumer) throw new NotFoundError(`consumer ${query.consumer}`);
    if (registryId !== undefined && registryId !== consumer.registryId) throw new InvalidInputError(`consumer: ${consumer.id} belongs to registry ${consumer.registryId}, not ${registryId}`);
    registryId = consumer.registryId;
  }
  const consumers = new Map(deps.consumers.map((c) => [c.id, c]));
  const view = (page: Page<EnvironmentRecord>, cursor: string | undefined) => ({ items: page.items.map((e) => environmentView(e, now, consumers.get(e.consumerId))), cursor: cursor ?? null });

  if (registryId !== undefined || verdict !== undefined) {
    const where = (registryId !== undefined
      ? { registryId, ...(query.consumer !== undefined && { consumerId: query.consumer }), ...(verdict !== undefined && { verdict: verdict as Verdict }) }
      : { verdict: verdict as Verdict }) as EnvironmentQuery;
    const page = await deps.ledger.environments(where, { limit, ...(query.cursor !== undefined && { cursor: query.cursor }) });
    return view(page, page.cursor);
  }
  // No filter: registry after registry, each partition to its end before the next.
  let at = decodeWalk(query.cursor);
  const items: EnvironmentRecord[] = [];
  while (at.part < deps.registries.length && items.length < limit) {
    const registry = deps.registries[at.part] as Registry;
    const page = await deps.ledger.environments({ registryId: registry.id }, { limit: limit - items.length, ...(at.inner !== undefined && { cursor: at.inner }) });
    items.push(...page.items);
    at = page.cursor !== undefined ? { part: at.part, inner: page.cursor } : { part: at.part + 1 };
  }
  return view({ items }, at.part < deps.registries.length ? encodeWalk(at) : undefined);
}
