"use client";

// Ready-made layers: one small form per catalog entry; the server turns the form into the package definition.
import { useId, useState, type FormEvent, type ReactNode } from "react";
import { api } from "../ui/api";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { TextareaField } from "../ui/controls";
import { ProblemAlert, issuesOf } from "../ui/problem";
import { useHydrated } from "../ui/use-hydrated";
import type { Layer } from "./layer-utils";
import type { PlaceResult } from "./custom-layer-form";

export interface CatalogEntrySummary {
  id: string;
  title: string;
  description: string;
}

const words = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((w) => w.trim())
    .filter(Boolean);

interface UserRow {
  key: number;
  username: string;
  keys: string;
}
let nextUserKey = 1;

export function CatalogForms({ entries, onPlace }: { entries: CatalogEntrySummary[]; onPlace: (layer: Layer) => PlaceResult }) {
  const [selected, setSelected] = useState(entries[0]?.id ?? "");
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState(false);
  const [users, setUsers] = useState<UserRow[]>([{ key: nextUserKey++, username: "", keys: "" }]);
  const groupId = useId();
  const hydrated = useHydrated();

  const entry = entries.find((e) => e.id === selected);

  function inputOf(form: FormData): unknown {
    switch (selected) {
      case "debian-packages":
        return { packages: words(String(form.get("packages") ?? "")) };
      case "users":
        return { users: users.map((u) => ({ username: u.username.trim(), authorizedKeys: u.keys.split("\n").map((k) => k.trim()).filter(Boolean) })) };
      case "systemd-units":
        return { units: words(String(form.get("units") ?? "")) };
      case "kernel-cmdline":
        return { cmdline: String(form.get("cmdline") ?? "") };
      case "hostname-timezone":
        return { hostname: String(form.get("hostname") ?? ""), timezone: String(form.get("timezone") ?? "") || "UTC" };
      case "device-agent": {
        const text = (name: string) => String(form.get(name) ?? "").trim();
        // Empty optional fields are left out; an empty number field takes the default.
        const number = (name: string, fallback: number) => (text(name) === "" ? fallback : Number(text(name)));
        return {
          portalUrl: text("portalUrl"),
          ...(text("caPem") ? { caPem: text("caPem") } : {}),
          registrationToken: text("registrationToken"),
          ...(text("registryMirror") ? { registryMirror: text("registryMirror") } : {}),
          intervalSeconds: number("intervalSeconds", 300),
          bootTries: number("bootTries", 2),
        };
      }
      default:
        return {};
    }
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    setError(null);
    setPending(true);
    try {
      const { layer } = await api<{ layer: Layer }>(`/api/v1/catalog/${selected}`, { body: inputOf(new FormData(formEl)) });
      const placed = onPlace(layer);
      if (!placed.ok) setError(new Error(placed.message));
      else {
        formEl.reset();
        if (selected === "users") setUsers([{ key: nextUserKey++, username: "", keys: "" }]);
      }
    } catch (err) {
      setError(err);
    } finally {
      setPending(false);
    }
  }

  /** The first server message about a field (catalog paths look like `packages[0]` or `users[1].username`). */
  const fieldError = (prefix: string) => {
    const issue = issuesOf(error).find((i) => i.path === prefix || i.path.startsWith(prefix + "[") || i.path.startsWith(prefix + "."));
    return issue ? `${issue.path}: ${issue.message}` : undefined;
  };

  let fields: ReactNode = null;
  switch (selected) {
    case "debian-packages":
      fields = (
        <Field
          key="packages"
          label="Debian packages"
          name="packages"
          placeholder="htop curl nginx-light"
          autoComplete="off"
          hint="Package names from Debian bookworm, separated by spaces or commas."
          error={fieldError("packages")}
        />
      );
      break;
    case "users":
      fields = (
        <div className="space-y-3">
          {users.map((u, i) => (
            <fieldset key={u.key} className="rounded-md border border-slate-200 p-3">
              <legend className="px-1 text-xs font-medium text-slate-600">User {i + 1}</legend>
              <Field
                label="Username"
                value={u.username}
                autoComplete="off"
                onChange={(e) => setUsers((list) => list.map((x) => (x.key === u.key ? { ...x, username: e.target.value } : x)))}
                placeholder="operator"
                error={fieldError(`users[${i}].username`)}
              />
              <TextareaField
                label="SSH public keys"
                className="mt-3"
                mono
                rows={3}
                spellCheck={false}
                value={u.keys}
                onChange={(e) => setUsers((list) => list.map((x) => (x.key === u.key ? { ...x, keys: e.target.value } : x)))}
                placeholder="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA… you@laptop"
                hint="One key per line. Password login stays disabled."
                error={fieldError(`users[${i}].authorizedKeys`)}
              />
              {users.length > 1 && (
                <div className="mt-2 text-right">
                  <Button type="button" variant="ghost" onClick={() => setUsers((list) => list.filter((x) => x.key !== u.key))}>
                    Remove user
                  </Button>
                </div>
              )}
            </fieldset>
          ))}
          <Button type="button" variant="secondary" onClick={() => setUsers((list) => [...list, { key: nextUserKey++, username: "", keys: "" }])}>
            Add another user
          </Button>
        </div>
      );
      break;
    case "systemd-units":
      fields = (
        <Field
          key="units"
          label="Units to enable"
          name="units"
          placeholder="nginx.service fstrim.timer"
          autoComplete="off"
          hint="Unit names separated by spaces or commas; an earlier package must install them."
          error={fieldError("units")}
        />
      );
      break;
    case "kernel-cmdline":
      fields = (
        <Field
          key="cmdline"
          label="Kernel arguments"
          name="cmdline"
          placeholder="console=ttyS0,115200n8 quiet"
          autoComplete="off"
          hint="Appended to the base arguments."
          error={fieldError("cmdline")}
        />
      );
      break;
    case "hostname-timezone":
      fields = (
        <div key="hostname" className="grid gap-3 sm:grid-cols-2">
          <Field label="Hostname" name="hostname" placeholder="kiosk-01" autoComplete="off" error={fieldError("hostname")} />
          <Field label="Timezone" name="timezone" defaultValue="UTC" placeholder="Europe/Berlin" autoComplete="off" hint="UTC or Area/City." error={fieldError("timezone")} />
        </div>
      );
      break;
    case "device-agent":
      fields = (
        <div key="device-agent" className="space-y-3">
          <Field label="Portal URL" name="portalUrl" type="url" placeholder="https://portal.example:3443" autoComplete="off" hint="The portal as devices reach it." error={fieldError("portalUrl")} />
          <TextareaField
            label="Portal CA certificate"
            name="caPem"
            mono
            rows={4}
            spellCheck={false}
            placeholder="-----BEGIN CERTIFICATE-----"
            hint="PEM of the CA that signed the portal's certificate. Leave it empty when a public CA did."
            error={fieldError("caPem")}
          />
          <Field
            label="Registration token"
            name="registrationToken"
            placeholder="strata_reg_…"
            autoComplete="off"
            spellCheck={false}
            hint="Made on the channel's page. It is stored in the image: give it a maximum number of uses."
            error={fieldError("registrationToken")}
          />
          <Field
            label="Registry mirror"
            name="registryMirror"
            placeholder="127.0.0.1:5000=http://10.0.2.2:5000"
            autoComplete="off"
            spellCheck={false}
            hint="Optional: <registry host>=<URL>, when devices reach the registry at another address than image references name."
            error={fieldError("registryMirror")}
          />
          <div className="grid gap-3 sm:grid-cols-2">
            <Field label="Poll interval (seconds)" name="intervalSeconds" type="number" min={10} max={86400} defaultValue={300} hint="10 to 86400." error={fieldError("intervalSeconds")} />
            <Field
              label="Boot tries"
              name="bootTries"
              type="number"
              min={1}
              max={3}
              defaultValue={2}
              hint="Boots a new image gets to reach multi-user.target before the device goes back to the previous one (1 to 3)."
              error={fieldError("bootTries")}
            />
          </div>
        </div>
      );
      break;
  }

  return (
    <div className="grid gap-5 md:grid-cols-[15rem_1fr]">
      <fieldset>
        <legend id={groupId} className="mb-2 text-sm font-medium text-slate-700">
          Catalog entry
        </legend>
        <div className="space-y-1">
          {entries.map((e) => (
            <label
              key={e.id}
              className={`flex cursor-pointer gap-2 rounded-md px-2 py-1.5 text-sm ${selected === e.id ? "bg-brand-50 text-brand-700 ring-1 ring-brand-100" : "hover:bg-slate-50"}`}
            >
              <input
                type="radio"
                name="catalog-entry"
                value={e.id}
                checked={selected === e.id}
                disabled={!hydrated}
                onChange={() => {
                  setSelected(e.id);
                  setError(null);
                }}
                className="mt-0.5 accent-brand-600"
              />
              <span className="font-medium">{e.title}</span>
            </label>
          ))}
        </div>
      </fieldset>
      {entry && (
        <form onSubmit={submit} aria-label={entry.title} className="space-y-3" noValidate>
          <p className="text-sm text-slate-600">{entry.description}</p>
          {fields}
          {error != null && <ProblemAlert error={error} title="The layer was not added." />}
          <Button type="submit" disabled={pending || !hydrated}>
            {pending ? "Adding…" : "Add layer"}
          </Button>
        </form>
      )}
    </div>
  );
}
