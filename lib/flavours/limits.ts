// Limits on what one flavour revision may hold, so a revision stays buildable and a page stays responsive.
export const MAX_LAYERS = 50;
/** All layers of one revision together, as canonical JSON. */
export const MAX_LAYERS_BYTES = 16 * 1024 * 1024;
/** The from-scratch rebuild schedule's interval, in days (a day at least, a quarter at most). */
export const SCRATCH_REBUILD_DAYS = { min: 1, max: 90 } as const;
