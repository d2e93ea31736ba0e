// Labelled textarea and select, matching Field: the label is the control's accessible name.
import type { ReactNode, SelectHTMLAttributes, TextareaHTMLAttributes } from "react";
import { LabelledControl, controlClass } from "./field";

export function TextareaField({
  label,
  hint,
  error,
  className,
  mono = false,
  ...props
}: TextareaHTMLAttributes<HTMLTextAreaElement> & { label: string; hint?: ReactNode; error?: string; mono?: boolean }) {
  return (
    <LabelledControl label={label} hint={hint} error={error} className={className}>
      {(control) => <textarea {...control} {...props} className={`${controlClass(error)} ${mono ? "font-mono text-[13px]" : ""}`} />}
    </LabelledControl>
  );
}

export function SelectField({
  label,
  hint,
  error,
  className,
  children,
  ...props
}: SelectHTMLAttributes<HTMLSelectElement> & { label: string; hint?: ReactNode; error?: string }) {
  return (
    <LabelledControl label={label} hint={hint} error={error} className={className}>
      {(control) => (
        <select {...control} {...props} className={`${controlClass(error)} bg-white`}>
          {children}
        </select>
      )}
    </LabelledControl>
  );
}

/** A small pill for states and counts. */
export function Badge({ tone = "slate", children }: { tone?: "slate" | "brand" | "amber" | "emerald" | "red"; children: ReactNode }) {
  const tones = {
    slate: "bg-slate-100 text-slate-700",
    brand: "bg-brand-50 text-brand-700",
    amber: "bg-amber-100 text-amber-800",
    emerald: "bg-emerald-100 text-emerald-800",
    red: "bg-red-100 text-red-800",
  };
  return <span className={`inline-flex items-center rounded px-1.5 py-0.5 text-xs font-medium ${tones[tone]}`}>{children}</span>;
}
