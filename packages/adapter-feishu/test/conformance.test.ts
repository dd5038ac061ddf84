import { adapterConformance } from "@switchboard/testing";
import { describe } from "vitest";
import { descriptors } from "./conformance-descriptors.ts";

for (const [mode, d] of Object.entries(descriptors)) describe(`${mode} mode`, () => adapterConformance(d));
