"""JupyterHub for a class taking the course: students fetch, work and submit in the Assignments
tab; the instructor releases, collects and grades from a copy of this repository.

Run by `make classroom` (a trial on this machine, classroom/trial.py) and by the hub test
(tests/test_classroom_hub.py), both as `jupyterhub -f classroom/jupyterhub_config.py` as root,
with the settings of classroom/settings.py in environment variables. What each user gets:

- their own Unix account; JupyterHub's LocalProcessSpawner starts their JupyterLab as that
  account, so file permissions keep students apart (nbgrader's exchange relies on them);
- JupyterLab from the course's environment (COURSE_ENV) with its `deadrelu` kernel and helper
  package;
- the role's settings through JUPYTER_CONFIG_PATH (classroom/jupyter/<role>/): students see
  the Assignments tab and Validate, never the Formgrader or Create Assignment; the instructor's
  JupyterLab opens in their course folder with the Formgrader working on it;
- nbgrader's exchange (CLASSROOM_EXCHANGE), a world-writable folder where nbgrader sets the
  permissions of what it creates: released assignments readable by all, submissions into a
  folder students can write to but not list, feedback under names only its student can compute.

Moving to a real deployment (README: "A classroom on JupyterHub") keeps classroom/jupyter/ and
the environment, and replaces the spawner and the authenticator set here.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from classroom import settings  # noqa: E402

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

# --- where the hub listens; its own files -----------------------------------------------------
ip = os.environ.get("CLASSROOM_IP", "127.0.0.1")
port = int(os.environ.get("CLASSROOM_PORT", "8000"))
c.JupyterHub.bind_url = f"http://{ip}:{port}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{int(os.environ.get('CLASSROOM_HUB_PORT', '8081'))}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{int(os.environ.get('CLASSROOM_PROXY_API_PORT', '8001'))}"
c.ConfigurableHTTPProxy.command = [os.path.join(settings.course_env(), "bin", "configurable-http-proxy")]
state = settings.state_dir()
c.JupyterHub.db_url = "sqlite:///" + os.path.join(state, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(state, "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = os.path.join(state, "jupyterhub-proxy.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops everybody's JupyterLab

# --- who may log in ---------------------------------------------------------------------------
# Instructors need no hub administration: their tools are nbgrader's, in their own JupyterLab.
c.Authenticator.allowed_users = set(settings.instructors() + settings.students())
if os.environ.get("CLASSROOM_PASSWORD"):
    # A trial: every account logs in with one shared password (anyone who has it can log in as
    # anyone), so the trial listens on 127.0.0.1 only. Never on a server others can reach.
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = os.environ["CLASSROOM_PASSWORD"]
else:
    c.JupyterHub.authenticator_class = "pam"  # the server's own accounts and passwords

# --- each user's JupyterLab -------------------------------------------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [os.path.join(settings.course_env(), "bin", "jupyterhub-singleuser")]
c.Spawner.ip = "127.0.0.1"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120  # JupyterLab's first start on a busy 2-core machine
c.Spawner.http_timeout = 120
# Per-user limits: SystemdSpawner (The Littlest JupyterHub) and KubeSpawner (Zero to JupyterHub)
# enforce them; the LocalProcessSpawner of this file only passes them on as MEM_LIMIT and CPU_LIMIT.
c.Spawner.mem_limit = os.environ.get("CLASSROOM_MEM_LIMIT", "4G")
c.Spawner.cpu_limit = float(os.environ.get("CLASSROOM_CPU_LIMIT", "1"))


def per_user_settings(spawner):
    """The role's environment and starting folder (classroom/settings.py), set as each server starts."""
    name = spawner.user.name
    spawner.environment.update(settings.user_environment(name))
    spawner.notebook_dir = settings.server_folder(name)


c.Spawner.pre_spawn_hook = per_user_settings

# --- a token for scripts (the hub test): list users and servers, stop servers -----------------
if os.environ.get("CLASSROOM_API_TOKEN"):
    c.JupyterHub.services = [{"name": "classroom-admin", "api_token": os.environ["CLASSROOM_API_TOKEN"]}]
    c.JupyterHub.load_roles = [
        {
            "name": "classroom-admin",
            "scopes": ["list:users", "read:users", "read:servers", "admin:servers"],
            "services": ["classroom-admin"],
        }
    ]
