import { ingestSuites } from "./ingest-cases";

ingestSuites("postgres");
ingestSuites("embedded");
