import { PLATFORM_SOURCES, PROVIDER_ENTRIES, sourceFaults } from "./source-faults.js";

/** The fault table through the flows of the sources on code and cloud platforms (GitLab, Google, Azure); the registry vendors' are in source-faults-vendors.test.ts. */
sourceFaults(PROVIDER_ENTRIES.filter((e) => PLATFORM_SOURCES.includes(e.sourceType)));
