import { adapterConformance } from "@switchboard/testing";
import { descriptors } from "./conformance-descriptors.ts";

adapterConformance(descriptors.sync!);
