import { packageProject } from "../../vitest.shared.ts";

export default packageProject("gateway", { postgres: true });
