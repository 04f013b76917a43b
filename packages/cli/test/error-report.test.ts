// Which database a PostgreSQL URL that names none lands in, as the words of a SCHEMA error tell it.
import { describe, expect, it } from "vitest";
import { unnamedDatabase } from "../src/error-report.js";

describe("unnamedDatabase", () => {
  it("is the driver's default for a URL without a database: $PGDATABASE, else the user name ($PGUSER, $USER)", () => {
    expect(unnamedDatabase("postgresql://postgres@127.0.0.1:5432", {})).toEqual({ name: "postgres", from: "the user name" });
    expect(unnamedDatabase("postgres://al%40ice:pw@db.example/", {})).toEqual({ name: "al@ice", from: "the user name" });
    expect(unnamedDatabase("postgresql://postgres@127.0.0.1:5432", { PGDATABASE: "reev" })).toEqual({ name: "reev", from: "$PGDATABASE" });
    expect(unnamedDatabase("postgresql://127.0.0.1:5432", { PGUSER: "bob", USER: "carol" })).toEqual({
      name: "bob",
      from: "the user name",
    });
    expect(unnamedDatabase("postgresql://127.0.0.1:5432", { USER: "carol" })).toEqual({ name: "carol", from: "the user name" });
  });

  it("is undefined when the URL names its database, or is not PostgreSQL", () => {
    expect(unnamedDatabase("postgresql://postgres@127.0.0.1:5432/reev", {})).toBeUndefined();
    expect(unnamedDatabase("postgresql://postgres@127.0.0.1:5432/reev?sslmode=disable", {})).toBeUndefined();
    expect(unnamedDatabase("memory://", { USER: "carol" })).toBeUndefined();
    expect(unnamedDatabase("./reev-db", { USER: "carol" })).toBeUndefined();
  });
});
