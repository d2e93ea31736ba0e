// Limits on what one flavour revision may hold, so a revision stays buildable and a page stays responsive.
export const MAX_LAYERS = 50;
/** All layers of one revision together, as canonical JSON. */
export const MAX_LAYERS_BYTES = 16 * 1024 * 1024;
