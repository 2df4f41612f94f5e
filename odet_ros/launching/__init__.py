"""What odet's launch files share: a node started plain or managed (lifecycle), and an rviz
configuration that shows the topics the launch actually uses."""
