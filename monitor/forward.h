/* Forward declarations of the monitor's types. */
#pragma once

typedef struct Manager Manager;
typedef struct Container Container;
typedef struct PendingCall PendingCall;
typedef struct RuntimeCleanup RuntimeCleanup;
typedef struct Waiter Waiter;
typedef struct WaitClient WaitClient;
typedef struct Process Process;
typedef struct ExecSync ExecSync;
