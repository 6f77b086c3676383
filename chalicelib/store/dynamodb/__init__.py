"""The DynamoDB store (aws mode): the Store interface on three tables, through PynamoDB.

Table and index names come from `AwsSettings` (chalicelib/config.py); the stack's template
(infra/template.json) makes the same tables, which tests/infra checks against the models.
Modules: `models` (items, bound to the names when a store is made), `keys`, `items`
(records <-> items), `sizes` (the 400 KB item limit), `boundary` (retries, error
translation), `calls`, `definitions`, `runs`, `history` and `store` (`DynamoDbStore`).

Items (pk / sk):

    definitions table
      COMPONENTS            <ns>/<name>@<version>    component version: document, deprecated
      NAMESPACES            <ns>                     a namespace holding a component
      WORKFLOWS             <ns>/<name>              workflow head: latest, deleted, enabled,
                                                     webhook_secret
      WORKFLOW#<ns>/<name>  VERSION#<10 digits>      one workflow version (zlib of its JSON)
      WORKFLOW#<ns>/<name>  SCHEDULE#<trigger>       the last schedule tick acted on
    runs table
      RUN#<id>              RUN                      the run; carries the GSI keys
      RUN#<id>              JOB#<name>               a job
      RUN#<id>              ATTEMPT#<job>#<6 digits> an attempt
      GSI runs-by-workflow  workflow_ref (<ns>/<workflow>) / created_order
      GSI runs-by-namespace namespace / created_order
      GSI runs-by-time      run_shard ("0".."3", from the run id) / created_order
    events table
      <event key>           claimed_at, expires_at (TTL)

`created_order` sorts like (created_at, run id) (see `keys`); only whole run items carry
the GSI keys, so the three indexes are sparse. All base-table reads are strongly
consistent; GSI reads (run history) are eventually consistent.

Access patterns (every Store method):

    method                      key (index)                              call
    list_namespaces             NAMESPACES; WORKFLOWS                    Query x2
    put_component               COMPONENTS <ref>; NAMESPACES <ns>        TransactWrite: Put if
                                                                         absent + Put (GetItem
                                                                         to compare if present)
    get_component(_entry)       COMPONENTS <ns>/<name>@<version>         GetItem
    list_component(s|_entries)  COMPONENTS begins_with <ns>/[<name>@]    Query, version order
    set_component_deprecated    COMPONENTS <ref>                         UpdateItem if exists
    save_workflow               WORKFLOWS <ns>/<name>;                   GetItem head, then
                                WORKFLOW#<ns>/<name> VERSION#<n+1>       TransactWrite: Put
                                                                         version if absent +
                                                                         Update head if unchanged
    get_workflow (latest | n)   WORKFLOWS <ns>/<name>; VERSION#<n>       GetItem (x2 for latest)
    list_workflows              WORKFLOWS begins_with <ns>/; versions    Query + BatchGetItem
    get_workflow_settings       WORKFLOWS <ns>/<name>                    GetItem
    set_workflow_enabled,       WORKFLOWS <ns>/<name>                    UpdateItem if live
      delete_workflow
    claim_event                 events <key>                             PutItem if absent or
                                                                         expired
    get/set_schedule_mark       WORKFLOW#<ns>/<name> SCHEDULE#<t>        GetItem / PutItem
    create_run (< 100 jobs)     RUN#<id> RUN, JOB#*                      TransactWrite
    create_run (>= 100 jobs)    RUN#<id> RUN, JOB#*                      Put placeholder if
                                                                         absent, TransactWrite
                                                                         per 100 jobs, Update run
    get_run                     RUN#<id> RUN                             GetItem
    save_run                    RUN#<id> RUN                             UpdateItem (not
                                                                         cancel_requested)
                                                                         [if status = expected]
    request_cancel              RUN#<id> RUN                             UpdateItem if whole
    list_runs ns + workflow     runs-by-workflow <ns>/<wf>, range        Query, newest first
    list_runs ns                runs-by-namespace <ns>, range            Query, newest first
    list_runs (no ns)           runs-by-time, each shard, range          4 Query, merged; a
                                                                         workflow is a filter
    save_job                    RUN#<id> JOB#<name>                      PutItem if status =
                                                                         expected, else
                                                                         TransactWrite:
                                                                         ConditionCheck run + Put
    get_job                     RUN#<id> JOB#<name>                      GetItem (+ run when
                                                                         missing or big-run job)
    list_jobs                   RUN#<id> begins_with JOB#                Query, workflow order
    create_attempt              RUN#<id> ATTEMPT#<job>#<n>               TransactWrite:
                                                                         ConditionCheck job +
                                                                         Put if absent
    save_attempt                RUN#<id> ATTEMPT#<job>#<n>               as save_job, checking
                                                                         the job
    get_attempt                 RUN#<id> ATTEMPT#<job>#<n>               GetItem
    list_attempts               RUN#<id> begins_with ATTEMPT#[<job>#]    Query

list_runs filters: the time window and the cursor are a BETWEEN on created_order, statuses
a FilterExpression (`status IN`). The COMPONENTS, NAMESPACES and WORKFLOWS partitions hold
every component / workflow head in one partition each: the catalog is small and read far
more than written, and a Query of one partition lists it in key order.
"""

from chalicelib.store.dynamodb.models import StoreTables, TableNames, bind_tables, create_tables
from chalicelib.store.dynamodb.store import DynamoDbStore

__all__ = ["DynamoDbStore", "StoreTables", "TableNames", "bind_tables", "create_tables"]
