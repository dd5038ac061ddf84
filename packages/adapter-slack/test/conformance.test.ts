import { adapterConformance } from "@switchboard/testing";
import { describe } from "vitest";
import { descriptors } from "./conformance-descriptors.ts";

describe("socket mode", () => adapterConformance(descriptors.socket!));
describe("http mode", () => adapterConformance(descriptors.http!));
