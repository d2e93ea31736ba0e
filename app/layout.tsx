import type { Metadata } from "next";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Strata", template: "%s · Strata" },
  description: "Build, publish and deliver immutable Linux derivatives from container images.",
};

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen">{children}</body>
    </html>
  );
}
