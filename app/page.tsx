import { redirect } from "next/navigation";

/** The dashboard starts at the flow list. */
export default function Home() {
  redirect("/flows");
}
