"""Drafts of a policy and an environment from where teams already keep their hosts: Ansible
inventories (ansible.py), NetBox exports (netbox.py) and spreadsheets (csvfile.py), built and
written by draft.py."""
