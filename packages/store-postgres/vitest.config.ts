import { packageProject } from "../../vitest.shared.ts";

export default packageProject("store-postgres", { postgres: true });
