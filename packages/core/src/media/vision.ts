import type { AgentProfile } from "../agents.ts";

/** Whether the agent's model reads images: `model.vision` when set, else by provider kind. */
export function modelHasVision(profile: Pick<AgentProfile, "model" | "provider">): boolean {
  if (profile.model.vision !== undefined) return profile.model.vision;
  return profile.provider.kind === "openai" || profile.provider.kind === "anthropic";
}
