"""The DynamoDB store (aws mode): the Store interface on three tables, through PynamoDB.

Table and index names come from `AwsSettings` (chalicelib/config.py); the stack's template
(infra/template.json) makes the same tables, which tests/infra checks against the models.
Modules: `models` (items, bound to the names when a store is made), `keys`, `items`
(records <-> items), `sizes` (the 400 KB item limit), `boundary` (retries, error
translation), `calls`, `definitions`, `trigger_index`, `slots`, `runs`, `attempts`,
`instances` (fan-out instances and their counts), `history` and `store` (`DynamoDbStore`).

Items (pk / sk):

    definitions table
      COMPONENTS            <ns>/<name>@<version>    component version: document, deprecated
      NAMESPACES            <ns>                     a namespace holding a component
      WORKFLOWS             <ns>/<name>              workflow head: latest, deleted, enabled,
                                                     webhook_secret, trigger_keys (the
                                                     TRIGGER# partitions it is filed under)
      TRIGGER#<kind>#<source> <ns>/<name>            the latest version (number) has a trigger
                                                     of kind s3 | codecommit on that bucket |
                                                     repository, or a schedule (source empty)
      WORKFLOW#<ns>/<name>  VERSION#<10 digits>      one workflow version (zlib of its JSON)
      WORKFLOW#<ns>/<name>  SCHEDULE#<schedule key>  the last tick acted on for a schedule
                                                     (domain.triggers.schedule_key)
      WORKFLOW#<ns>/<name>  SLOTS                    run slots: holders (string set of the
                                                     run ids holding one; absent when none)
    runs table
      RUN#<id>              RUN                      the run; carries the GSI keys
      RUN#<id>              JOB#<name>               a job
      RUN#<id>              ATTEMPT#<job>#<6 digits> an attempt
      RUN#<id>              INSTANCE#<job>#<6 digits> a fan-out instance (`<job>.<i>`): a job
                                                     item with grp and instance
      RUN#<id>              IATTEMPT#<job>.<i>#<6 digits> an attempt of an instance
      RUN#<id>              COUNTS#<job>             how many instances of the group are in
                                                     each state (one number per state)
      TASK#<task id>        TASK                     the attempt holding a container (run_id,
                                                     job, number); task id: what follows the
                                                     last / of container_id
      GSI runs-by-workflow  workflow_ref (<ns>/<workflow>) / created_order
      GSI runs-by-namespace namespace / created_order
      GSI runs-by-time      run_shard ("0".."3", from the run id) / created_order
    events table
      <event key>           claimed_at, expires_at (TTL)

`created_order` sorts like (created_at, run id) (see `keys`); only whole run items carry
the GSI keys, so the three indexes are sparse. All base-table reads are strongly
consistent; GSI reads (run history) are eventually consistent. That is why the task index
is items of the base table, written in the attempt's transaction, and not a GSI: an
attempt must be found by its task right after the write that recorded the task.

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
                                WORKFLOW#<ns>/<name> VERSION#<n+1>;      TransactWrite: Put
                                TRIGGER#* <ns>/<name>                    version if absent +
                                                                         Update head if unchanged
                                                                         + Put / Delete index
    get_workflow (latest | n)   WORKFLOWS <ns>/<name>; VERSION#<n>       GetItem (x2 for latest)
    list_workflows              WORKFLOWS begins_with <ns>/; versions    Query + BatchGetItem
    list_workflow_versions      WORKFLOWS <ns>/<name>; WORKFLOW#<ns>/    GetItem head, Query
                                <name> begins_with VERSION#              (version, created_at)
    get_workflow_settings       WORKFLOWS <ns>/<name>                    GetItem
    set_workflow_enabled        WORKFLOWS <ns>/<name>                    UpdateItem if live
    delete_workflow             WORKFLOWS <ns>/<name>; TRIGGER#* <ns>/... GetItem head, then
                                                                         TransactWrite: Update
                                                                         head if unchanged +
                                                                         Delete its index items
    claim_event                 events <key>                             PutItem if absent or
                                                                         expired
    get/set_schedule_mark       WORKFLOW#<ns>/<name> SCHEDULE#<key>      GetItem / PutItem
    advance_schedule_mark       WORKFLOW#<ns>/<name> SCHEDULE#<key>      PutItem if absent or
                                                                         tick = expected
    workflows_triggered_by      TRIGGER#<kind>#<source>; heads; versions Query + BatchGetItem x2
    take_run_slot               WORKFLOW#<ns>/<name> SLOTS               UpdateItem ADD holders
                                                                         if absent, holding
                                                                         the run, or size <
                                                                         limit
    free_run_slot               WORKFLOW#<ns>/<name> SLOTS               UpdateItem DELETE from
                                                                         holders if holding it
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
                                [+ TASK#<task id> TASK]                  ConditionCheck job +
                                                                         Put if absent [+ Put
                                                                         task when it has one]
    save_attempt                RUN#<id> ATTEMPT#<job>#<n>               as save_job, checking
                                                                         the job, each Put
                                                                         also if container_id
                                                                         is unchanged; else
                                                                         GetItem, TransactWrite
                                                                         with Put task, then
                                                                         Delete the old task
                                                                         if it names the attempt
    get_attempt                 RUN#<id> ATTEMPT#<job>#<n>               GetItem
    list_attempts               RUN#<id> begins_with ATTEMPT#[<job>#]    Query (+ Query of
                                (an instance: IATTEMPT#<job>.<i>#)       IATTEMPT# for a whole
                                                                         run's)
    list_job_attempts           RUN#<id> begins_with ATTEMPT#            Query
    create_instance             RUN#<id> JOB#<group>, INSTANCE#<job>#<i>, TransactWrite:
                                COUNTS#<job>                             ConditionCheck group +
                                                                         Put if absent + Update
                                                                         ADD the state's count
    save_job of an instance     RUN#<id> INSTANCE#<job>#<i>              PutItem if status =
                                [+ COUNTS#<job>]                         the one read (or
                                                                         expected) when it
                                                                         keeps it; else
                                                                         TransactWrite: Put if
                                                                         status = old + Update
                                                                         ADD new 1, old -1
    get_job of an instance      RUN#<id> INSTANCE#<job>#<i>              GetItem
    instance_counts             RUN#<id> COUNTS#<job>                    GetItem
    list_instances              RUN#<id> INSTANCE#<job>#<after+1> ..     GetItem counts, Query
                                INSTANCE#<job>#999999                    per state phase with a
                                                                         FilterExpression
                                                                         status IN (see
                                                                         instances.py)
    find_attempt_by_container   TASK#<task id> TASK; the attempt         GetItem x2, the attempt
                                                                         checked to still hold
                                                                         the container

list_runs filters: the time window and the cursor are a BETWEEN on created_order, statuses
a FilterExpression (`status IN`). The COMPONENTS, NAMESPACES and WORKFLOWS partitions hold
every component / workflow head in one partition each: the catalog is small and read far
more than written, and a Query of one partition lists it in key order.
The trigger index (`trigger_index`) has one partition per bucket, repository and one for
every scheduled workflow, read by each event and each minute's schedule check; a workflow
saved before the index existed is filed in it when it is next saved.
"""

from chalicelib.store.dynamodb.models import StoreTables, TableNames, bind_tables, create_tables
from chalicelib.store.dynamodb.store import DynamoDbStore

__all__ = ["DynamoDbStore", "StoreTables", "TableNames", "bind_tables", "create_tables"]
