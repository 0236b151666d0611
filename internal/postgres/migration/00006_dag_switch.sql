-- +goose Up
-- REDCap's DAG Switcher: the DAGs each member may move itself among with the API's DAG
-- switch. dag_id 0 is "no DAG" (REDCap's "[No Assignment]"), so dag_id has no foreign
-- key; the store deletes a DAG's rows with the DAG, and a member's with the member, in
-- the same transaction.
CREATE TABLE project_dag_switch (
    member_id  BIGINT NOT NULL REFERENCES project_members (id),
    dag_id     BIGINT NOT NULL,
    project_id BIGINT NOT NULL REFERENCES projects (id),
    PRIMARY KEY (member_id, dag_id)
);
CREATE INDEX project_dag_switch_dag ON project_dag_switch (project_id, dag_id);

-- +goose Down
DROP TABLE project_dag_switch;
