// Devices: one device, and what customers do with it (rename, pin, move, revoke).
import { idParams, route } from "../spec";
import { UpdateDeviceInput } from "../../devices/devices";
import { DeviceItem } from "./lists";

const NO_DEVICE = "No such device.";

export const getDevice = route({
  method: "GET",
  path: "/api/v1/devices/{id}",
  summary: "One device: its channel, what it runs and its last report",
  tags: ["devices"],
  role: "customer",
  params: idParams,
  notFound: NO_DEVICE,
  response: DeviceItem,
});

export const updateDevice = route({
  method: "PATCH",
  path: "/api/v1/devices/{id}",
  summary: "Rename a device, pin it to an image reference (null unpins) or move it to another channel",
  tags: ["devices"],
  role: "customer",
  params: idParams,
  notFound: NO_DEVICE,
  body: UpdateDeviceInput,
  response: DeviceItem,
  errors: { 409: "The device is revoked" },
});

export const revokeDevice = route({
  method: "DELETE",
  path: "/api/v1/devices/{id}",
  summary: "Revoke a device: its secret stops working",
  tags: ["devices"],
  role: "customer",
  params: idParams,
  notFound: NO_DEVICE,
  response: DeviceItem,
  errors: { 409: "The device is revoked already" },
});
