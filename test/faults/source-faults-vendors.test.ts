import { PLATFORM_SOURCES, PROVIDER_ENTRIES, sourceFaults } from "./source-faults.js";

/** The fault table through the flows of every other provider-backed source (Docker Hub, Quay, Harbor, JFrog, and any new one). */
sourceFaults(PROVIDER_ENTRIES.filter((e) => !PLATFORM_SOURCES.includes(e.sourceType)));
