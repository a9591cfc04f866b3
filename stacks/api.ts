import { accountRoot, API_ROUTES, API_STAGE, type ApiPrincipals, type ApiRole, invokeResources } from "./api-access";
import { apiPermissions } from "./audit-permissions";
import type { DeployConfig } from "./config";
import { functionBase, lambdaTransform } from "./lambda";
import type { RotationPlan } from "./rotation-permissions";
import type { Storage } from "./storage";

/** What the audit API calls into: the functions it invokes and the queue redeliver plans onto. */
export interface ApiDependencies {
  readonly refresh: sst.aws.Function;
  readonly auditScan: sst.aws.Function;
  readonly deliveries: sst.aws.Queue;
  /**
   * The rotation stack, when there is one (registries rotated on AWS): refresh of such a
   * registry asks Secrets Manager to rotate its secret, and rollback runs in the revoke function.
   */
  readonly rotation?: { readonly plan: RotationPlan; readonly rotate: sst.aws.Function; readonly revoke: sst.aws.Function };
}

/**
 * The audit API on AWS (issue 7): an API Gateway HTTP API in front of functions/api.handler.
 *
 * - Every route requires IAM authorization (SigV4): `GET /` and `GET /dashboard.js` (the
 *   dashboard), `GET /v1/{proxy+}` (reads), `POST /v1/{proxy+}` (refresh, redeliver, restart,
 *   scan). One function serves them all; each route only adds an integration.
 * - Two roles hold `execute-api:Invoke`: the on-call reader on GET, the operator on GET and
 *   POST (stacks/api-access.ts). Who may assume them comes from pullkeeper.yaml's
 *   settings.api (readers, operators), default the deploy account's root (the decision and
 *   why: stacks/api-access.ts).
 * - The function's IAM: apiPermissions (stacks/audit-permissions.ts), derived from the config.
 * - With the rotation stack, PULLKEEPER_REVOKE_FUNCTION names the revoke function, which
 *   POST /v1/registries/{id}/rollback invokes synchronously; without it, rollback answers 501.
 * - No CORS: the dashboard is served by the API itself, and scripts call it directly.
 */
export function api(deployConfig: DeployConfig, storage: Storage, deps: ApiDependencies, principals: ApiPrincipals) {
  const { config } = deployConfig;
  const { table, bus, fingerprintKey } = storage;

  const partition = aws.getPartitionOutput().partition;
  const region = aws.getRegionOutput().region;
  const account = aws.getCallerIdentityOutput().accountId;
  const { rotation } = deps;
  const permissions = $resolve([
    partition,
    region,
    account,
    table.arn,
    bus.arn,
    fingerprintKey.arn,
    deps.deliveries.arn,
    deps.refresh.arn,
    deps.auditScan.arn,
    rotation?.rotate.arn ?? "",
    rotation?.revoke.arn ?? "",
  ]).apply(
    ([partition, region, account, tableArn, busArn, fingerprintKeySecretArn, deliveryQueueArn, refreshFunctionArn, auditScanFunctionArn, rotateFunctionArn, revokeFunctionArn]) => {
      return apiPermissions(config, {
        partition,
        region,
        account,
        tableArn,
        busArn,
        fingerprintKeySecretArn,
        deliveryQueueArn,
        refreshFunctionArn,
        auditScanFunctionArn,
        ...(rotation && rotateFunctionArn && revokeFunctionArn && { rotation: { plan: rotation.plan, rotateFunctionArn, revokeFunctionArn } }),
      });
    },
  );

  const fn = new sst.aws.Function("Api", {
    ...functionBase(deployConfig, {
      PULLKEEPER_TABLE: table.name,
      PULLKEEPER_BUS: bus.name,
      PULLKEEPER_FINGERPRINT_KEY_SECRET: fingerprintKey.arn,
      PULLKEEPER_DELIVERY_QUEUE_URL: deps.deliveries.url,
      PULLKEEPER_REFRESH_FUNCTION: deps.refresh.name,
      PULLKEEPER_AUDIT_SCAN_FUNCTION: deps.auditScan.name,
      ...(rotation && { PULLKEEPER_REVOKE_FUNCTION: rotation.revoke.name }),
    }),
    description: "pullkeeper: the audit API (IAM-authorized HTTP API) and the dashboard",
    handler: "functions/api.handler",
    // API Gateway gives up on an HTTP API integration after 30 seconds.
    timeout: "30 seconds",
    permissions,
    transform: lambdaTransform(),
  });

  const http = new sst.aws.ApiGatewayV2("AuditApi", {
    cors: false,
    transform: {
      // SST's default, stated: the stage is part of every execute-api ARN the roles grant.
      stage: (args) => {
        args.name = API_STAGE;
      },
    },
  });
  // By ARN, so the routes share the one function (a handler string would build one function per route).
  const routes = API_ROUTES.map((route) => http.route(route, fn.arn, { auth: { iam: true } }));

  const executionArn = http.nodes.api.executionArn;
  // Unset principals: the deploy account's root, so the account's IAM policies decide.
  const root = $resolve([partition, account]).apply(([partition, account]) => accountRoot(partition, account));
  const role = (name: string, kind: ApiRole, description: string) => {
    const trusted = principals[kind];
    return new aws.iam.Role(name, {
      description,
      assumeRolePolicy: aws.iam.getPolicyDocumentOutput({
        statements: [
          {
            actions: ["sts:AssumeRole"],
            principals: [{ type: "AWS", identifiers: trusted ? [...trusted] : [root] }],
          },
        ],
      }).json,
      maxSessionDuration: 3600,
      inlinePolicies: [
        {
          name: "invoke-audit-api",
          policy: aws.iam.getPolicyDocumentOutput({
            statements: [{ actions: ["execute-api:Invoke"], resources: executionArn.apply((arn) => invokeResources(arn, kind)) }],
          }).json,
        },
      ],
    });
  };
  const reader = role("AuditReaderRole", "reader", `pullkeeper ${$app.stage}: read the audit API and dashboard (GET)`);
  const operator = role("AuditOperatorRole", "operator", `pullkeeper ${$app.stage}: read the audit API and act on it (GET, POST: refresh, redeliver, restart, scan)`);

  return { function: fn, http, routes, roles: { reader, operator } };
}
