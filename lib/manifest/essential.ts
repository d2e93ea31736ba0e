// Base packages the platform needs in every image, so a flavour may not leave them out; each with the reason, shown to users.

/** "category/name" → why Strata cannot build or run a device image without it. */
export const ESSENTIAL_PACKAGES: Readonly<Record<string, string>> = {
  "system/base": "Every other package builds on it: it sets up apt, CA certificates and the basics all layers rely on.",
  "system/kernel": "Devices boot this kernel; an image without it cannot start.",
  "system/dracut": "It makes the initrd that mounts the read-only root and the state partition; without it the image does not boot.",
  "system/grub": "It is the boot loader of Strata disks and picks the A or B slot; without it nothing boots.",
  "system/boot": "A/B disk images and updates rely on its boot counting to mark a new slot good or fall back to the previous one.",
};

/** Why `id` must stay in every flavour, or undefined when it may be left out. */
export function essentialReason(id: string): string | undefined {
  return Object.hasOwn(ESSENTIAL_PACKAGES, id) ? ESSENTIAL_PACKAGES[id] : undefined;
}
