import { withApi } from "@/lib/api/with-api";
import { getDiskImage } from "@/lib/disk-images/disk-images";

/** One disk image: status, progress, files and layout, with its build and flavour. */
export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) => getDiskImage(db, actor, params.id));
