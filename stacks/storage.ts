/**
 * Storage for the refresh flow: the ledger table, the pullkeeper event bus and the secret that
 * holds the fingerprint HMAC key.
 *
 * The table's keys and index match `ledgerTableDefinition` in packages/aws/src/ledger-table.ts
 * (test/infra/stacks.test.ts checks they stay equal).
 */
export function storage() {
  const production = $app.stage === "production";

  const table = new sst.aws.Dynamo("Ledger", {
    fields: { pk: "string", sk: "string", gsi1pk: "string", gsi1sk: "string" },
    primaryIndex: { hashKey: "pk", rangeKey: "sk" },
    globalIndexes: { gsi1: { hashKey: "gsi1pk", rangeKey: "gsi1sk", projection: "all" } },
    // The ledger is the audit history: never dropped by accident in production. (SST also
    // retains DynamoDB tables on `sst remove` when the app's removal policy is "retain".)
    deletionProtection: production,
    transform: {
      // On-demand and point-in-time recovery are SST's defaults today; stated so a default change cannot drop them.
      table: { billingMode: "PAY_PER_REQUEST", pointInTimeRecovery: { enabled: true } },
    },
  });

  const bus = new sst.aws.Bus("Events");

  // The HMAC key for credential fingerprints. Declared without a value: the refresh function
  // writes a random key on first use (packages/aws/src/fingerprint-key.ts), so the key never
  // passes through the deployment state. Losing it makes old fingerprints incomparable, so it is
  // kept in production; elsewhere it is deleted at once so a stage can be re-created.
  const fingerprintKey = new aws.secretsmanager.Secret(
    "FingerprintKey",
    {
      name: `${$app.name}/${$app.stage}/fingerprint-key`,
      description: `pullkeeper ${$app.stage}: HMAC key for credential fingerprints (written by the refresh function on first use)`,
      recoveryWindowInDays: production ? 30 : 0,
    },
    { retainOnDelete: production },
  );

  return { table, bus, fingerprintKey };
}

export type Storage = ReturnType<typeof storage>;
