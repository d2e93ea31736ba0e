// The channels every flavour has from the start (the migration gave them to flavours made before channels existed).
export const DEFAULT_CHANNELS = [
  { name: "stable", description: "Releases for every device." },
  { name: "beta", description: "Early releases for test devices." },
] as const;
