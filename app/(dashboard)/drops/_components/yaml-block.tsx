"use client";

import { CopyButton } from "../../flows/_components/copy-button";
import styles from "../drops.module.css";

/** A YAML document as text (never HTML), with a copy button. */
export function YamlBlock({ title, yaml, testId }: { title: string; yaml: string; testId: string }) {
  return (
    <figure className={styles.yaml} data-testid={testId}>
      <figcaption className={styles.yamlHead}>
        <span>{title}</span>
        <CopyButton text={yaml} label="Copy YAML" testId={`${testId}-copy`} />
      </figcaption>
      <pre className="mono">{yaml}</pre>
    </figure>
  );
}
