import { apiSuite } from "./api-suite";

apiSuite("embedded");
