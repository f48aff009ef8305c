// Which errors mean "the store cannot be reached now" (a 503 SERVICE_UNAVAILABLE) rather than a
// bug (a 500). The drill in test/drills/postgres-restart.pg.test.ts produces these for real; this
// file pins the shapes it has met, so a change to the classifier cannot quietly lose one.
import { describe, expect, it } from "vitest";
import { isStoreUnavailable } from "../../src/store/database.js";

describe("isStoreUnavailable()", () => {
  it("recognises a connection the server closed mid-transaction, as Prisma's driver adapter reports it", () => {
    // The shape of a PrismaClientKnownRequestError (P2010) met when PostgreSQL stopped during a publish.
    const error = Object.assign(new Error("Invalid `prisma.$queryRaw()` invocation: Raw query failed. Code: `N/A`. Message: `Server has closed the connection.`"), {
      code: "P2010",
      meta: { driverAdapterError: { name: "DriverAdapterError", cause: { kind: "ConnectionClosed" } } },
    });
    expect(isStoreUnavailable(error)).toBe(true);
    // The kind alone is enough, whatever the message says.
    expect(isStoreUnavailable({ code: "P2010", meta: { driverAdapterError: { cause: { kind: "ConnectionClosed" } } } })).toBe(true);
  });

  it("recognises refused connections and server shutdowns", () => {
    expect(isStoreUnavailable(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }))).toBe(true);
    expect(isStoreUnavailable({ code: "57P01", message: "terminating connection due to administrator command" })).toBe(true);
  });

  it("does not take a query's own error for an outage", () => {
    expect(isStoreUnavailable(Object.assign(new Error('duplicate key value violates unique constraint "x"'), { code: "23505" }))).toBe(false);
    expect(isStoreUnavailable({ code: "P2010", meta: { driverAdapterError: { cause: { kind: "UniqueConstraintViolation" } } } })).toBe(false);
    expect(isStoreUnavailable(undefined)).toBe(false);
  });
});
